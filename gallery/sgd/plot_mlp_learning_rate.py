"""
What goes wrong when the learning rate of a deep network is too large or too small?
===================================================================================

A six-hidden-layer ReLU network on a 2-D classification task, trained by SGD
with momentum at learning rates from :math:`10^{-5}` to 1. Too small and too
large both leave the validation loss flat, for opposite reasons. Instead of
guessing which, we measure: the fraction of ReLU units that never fire, layer by
layer, and how far the weights have travelled from their initial values.
"""

# %%
# The task and the network
# ------------------------
# 10,000 points uniform on :math:`[-1, 1]^2`, labelled with four classes by a
# warped Voronoi map of twelve cells (three irregular regions per class), 5% of
# the labels replaced at random; 6000 for training, 2000 for validation and
# 2000 for testing. The network has six hidden layers of 16 ReLU units (seven
# ``nn.Linear``), He initialisation, and is trained by SGD with momentum 0.9 on
# the cross-entropy, mini-batches of 128, for 8 epochs, three seeds per
# learning rate (initialisation and batch order). The classic version of this
# experiment uses about :math:`10^5` points and 100 epochs; ours is scaled down
# to run in seconds.
import dataclasses

import numpy as np

from nnbook import book, deep_mlp, plotting, training_diagnostics
from nnbook.training import TrainConfig, train

task = deep_mlp.regions(n_train=6000, n_val=2000, n_test=2000, rng=0)
fig, ax = plotting.new_figure(width=4.6, height=4.2)
ax.scatter(task.X_train[:, 0], task.X_train[:, 1], c=task.y_train, cmap="tab10", vmin=0, vmax=9, s=2)
ax.set(xlabel="$x_1$", ylabel="$x_2$", title="Training set (colour: class)")
ax.set_aspect("equal")

# %%
# The sweep
# ---------
# Every run records, after every epoch, the validation loss, the fraction of
# dead units in each hidden layer (units whose output is zero for all 2000
# validation inputs) and the distance travelled by the weights,
# :math:`\|\theta_t - \theta_0\| / \|\theta_0\|`.
rates = (1.0, 0.2, 0.01, 1e-3, 5e-4, 1e-5)
seeds = (0, 1, 2)
base = TrainConfig(epochs=8, batch_size=128, momentum=0.9, device="cpu")
runs = {}
for lr in rates:
    for seed in seeds:
        net = deep_mlp.mlp(n_classes=task.n_classes, init="he", seed=seed)
        hooks = (training_diagnostics.dead_unit_hook(task.X_val), training_diagnostics.parameter_distance_hook(net))
        history = train(
            net,
            dataclasses.replace(base, lr=lr, seed=seed),
            (task.X_train, task.y_train),
            val=(task.X_val, task.y_val),
            test=(task.X_test, task.y_test),
            hooks=hooks,
        )
        runs[lr, seed] = (net, history)


def curve(lr: float, name: str) -> np.ndarray:
    """(seeds, epochs + 1) values of a curve for one learning rate."""
    return np.array(
        [runs[lr, s][1].val_loss if name == "val_loss" else runs[lr, s][1].measurements[name] for s in seeds]
    )


# %%
# Validation loss, dead units, distance travelled
# -----------------------------------------------
# Lines are the mean over the three seeds, bands their range. The learning
# rates 1 and :math:`10^{-5}` both leave the validation loss high, but the
# middle and right panels tell them apart: at 1 most units die
# within the first epoch, while the weights move a long way; at
# :math:`10^{-5}` no unit dies and the weights barely move at all.
fig, (ax_v, ax_d, ax_t) = plotting.new_figure(1, 3, width=12.0, height=3.7)
epoch = runs[rates[0], 0][1].epoch
for lr in rates:
    plotting.band(ax_v, epoch, curve(lr, "val_loss"), label=f"lr = {lr:g}", quantiles=(0.0, 1.0))
    plotting.band(ax_d, epoch, curve(lr, "dead_all"), quantiles=(0.0, 1.0))
    plotting.band(ax_t, epoch[1:], curve(lr, "relative_distance")[:, 1:], quantiles=(0.0, 1.0))
ax_v.set(xlabel="epoch", ylabel="validation loss", title="Validation cross-entropy")
ax_d.set(xlabel="epoch", ylabel="fraction of hidden units", title="Dead ReLU units")
ax_t.set(
    yscale="log",
    xlabel="epoch",
    ylabel=r"$\|\theta_t - \theta_0\| / \|\theta_0\|$",
    title="Distance travelled by the weights",
)
plotting.legend(ax_v, fontsize=8)

# %%
# Where the units die
# -------------------
# The dead fraction of each hidden layer after training, for each learning rate
# (mean over seeds). At learning rate 1 every layer loses most of its units,
# and the last hidden layer loses all of them: the output is then the same for
# every input, and no gradient reaches any earlier layer, so nothing can
# recover. At 0.2 the damage is partial; at the smaller rates the few dead
# units are mostly those that were dead at initialisation.
per_layer = np.array(
    [[np.mean([runs[lr, s][1].measurements[f"dead_layer{i}"][-1] for s in seeds]) for i in range(1, 7)] for lr in rates]
)
fig, ax = plotting.new_figure(width=6.0, height=3.4)
image = ax.imshow(per_layer, cmap="Reds", vmin=0, vmax=1, aspect="auto")
ax.set_xticks(range(6), [f"layer {i}" for i in range(1, 7)])
ax.set_yticks(range(len(rates)), [f"lr = {lr:g}" for lr in rates])
for (i, j), value in np.ndenumerate(per_layer):
    ax.text(j, i, f"{value:.0%}", ha="center", va="center", fontsize=8, color="white" if value > 0.6 else "black")
ax.grid(False)
fig.colorbar(image, ax=ax).set_label("dead fraction after 8 epochs")

# %%
# The best and the worst model
# ----------------------------
# Predicted class over the square for the run with the lowest and the one with
# the highest final validation loss, with the validation points on top.
final = {key: history.val_loss[-1] for key, (_, history) in runs.items()}
best, worst = min(final, key=final.get), max(final, key=final.get)
fig, axes = plotting.new_figure(1, 2, width=9.0, height=4.2)
for ax, key, name in ((axes[0], best, "best"), (axes[1], worst, "worst")):
    xs, labels, _ = deep_mlp.predict_grid(runs[key][0], lim=1.0, resolution=150)
    ax.pcolormesh(xs, xs, labels, cmap="tab10", vmin=0, vmax=9, alpha=0.35, shading="auto")
    ax.scatter(task.X_val[:, 0], task.X_val[:, 1], c=task.y_val, cmap="tab10", vmin=0, vmax=9, s=2)
    accuracy = runs[key][1].val_accuracy[-1]
    ax.set(aspect="equal", title=f"{name}: lr = {key[0]:g}, seed {key[1]}, val. accuracy {accuracy:.0%}")

# %%
# The numbers, checked
# --------------------
val0 = np.mean([runs[lr, s][1].val_loss[0] for lr in rates for s in seeds])
constant = deep_mlp.constant_prediction_loss(task.y_val, task.n_classes)
end = {lr: curve(lr, "val_loss")[:, -1] for lr in rates}
dead_end = {lr: curve(lr, "dead_all")[:, -1] for lr in rates}
travel = {lr: curve(lr, "relative_distance")[:, -1] for lr in rates}
with book.numbers():
    book.record("sgd/mlp_val0", val0, fmt="{:.2f}", label="validation loss at initialisation")
    for lr in rates:
        key = f"{lr:g}".replace(".", "p").replace("-", "m")
        book.record(f"sgd/mlp_val_lr{key}", end[lr].mean(), fmt="{:.2f}", label=f"final validation loss, lr {lr:g}")
        book.record(f"sgd/mlp_dead_lr{key}", dead_end[lr].mean(), fmt="{:.0%}", label=f"dead units, lr {lr:g}")
        book.record(f"sgd/mlp_travel_lr{key}", travel[lr].mean(), fmt="{:.1e}", label=f"distance travelled, lr {lr:g}")
    book.record(
        "sgd/mlp_dead_init",
        np.mean([runs[lr, s][1].measurements["dead_all"][0] for lr in rates for s in seeds]),
        fmt="{:.0%}",
        label="fraction of dead hidden units at initialisation, mean over learning rates and seeds",
    )
    book.record(
        "sgd/mlp_dead_last_lr1", per_layer[0, -1], fmt="{:.0%}", label="dead units in the last hidden layer, lr 1"
    )
    book.record(
        "sgd/mlp_best_lr", best[0], fmt="{:g}", label="learning rate of the run with the lowest final validation loss"
    )
    book.record(
        "sgd/mlp_best_acc",
        runs[best][1].val_accuracy[-1],
        fmt="{:.0%}",
        label="final validation accuracy of the best run",
    )
    book.record(
        "sgd/mlp_worst_lr",
        worst[0],
        fmt="{:g}",
        label="learning rate of the run with the highest final validation loss",
    )
    book.record(
        "sgd/mlp_worst_acc",
        runs[worst][1].val_accuracy[-1],
        fmt="{:.0%}",
        label="final validation accuracy of the worst run",
    )
    book.claim(
        "sgd/mlp_large_lr_kills_units",
        "at learning rate 1 at least half of the hidden units are dead after 8 epochs, in every seed "
        "(smallest fraction)",
        value=float(dead_end[1.0].min()),
        at_least=0.5,
        fmt="{:.0%}",
    )
    book.record("sgd/mlp_constant_loss", constant, fmt="{:.2f}", label="loss of the best constant prediction")
    book.claim(
        "sgd/mlp_large_lr_constant",
        "at learning rate 1 the network ends no better than a constant prediction: its validation loss is within "
        "10% of the entropy of the class frequencies in every seed (largest relative deviation)",
        value=float(np.max(np.abs(end[1.0] / constant - 1))),
        at_most=0.1,
        fmt="{:.3f}",
    )
    book.claim(
        "sgd/mlp_tiny_lr_does_not_move",
        "at learning rate 1e-5 the weights move by less than 1% of their norm in 8 epochs (largest over seeds)",
        value=float(travel[1e-5].max()),
        at_most=0.01,
        fmt="{:.1e}",
    )
    book.claim(
        "sgd/mlp_tiny_lr_no_dead",
        "at learning rate 1e-5 the flat loss is not caused by dead units: no more are dead than at initialisation",
        value=float(np.max(dead_end[1e-5] - curve(1e-5, "dead_all")[:, 0])),
        at_most=0.0,
        fmt="{:.2f}",
    )
    book.claim(
        "sgd/mlp_good_lr_learns",
        "at learning rate 0.01 the validation loss falls below half its initial value in every seed (largest ratio)",
        value=float(end[0.01].max() / val0),
        at_most=0.5,
        fmt="{:.2f}",
    )

# %%
# Takeaways
# ---------
# - A flat validation curve has (at least) two causes that look the same on
#   the loss plot and nothing alike underneath: dead units after steps that
#   were too large, and weights that have hardly moved after steps that were
#   too small.
# - Counting dead units needs only a forward pass over a probe set; the
#   distance travelled needs only a copy of the initial weights. Both are
#   cheap enough to record in every run.
plotting.show()

"""
What does batch normalisation change, and what does it not?
===========================================================

The same six-layer network and task as the learning-rate example, trained for
longer at the learning rate that worked best there, with and without batch
normalisation before every activation. Two claims often made about the result
are put to a measurement: that batch norm makes dead ReLU units impossible,
and that a validation loss below the training loss shows a "stronger
inductive bias" of the normalised network.
"""

# %%
# A longer run, with and without batch norm
# -----------------------------------------
# Learning rate 0.01, SGD with momentum 0.9, batches of 128, 20 epochs (the
# classic setup runs 100 epochs on about :math:`10^5` points), three seeds
# for each network; the seed sets the initialisation and the batch order, so
# the two networks of a seed are a paired comparison.
import dataclasses

import numpy as np

from nnbook import book, deep_mlp, plotting, training_diagnostics
from nnbook.training import TrainConfig, train

task = deep_mlp.regions(n_train=6000, n_val=2000, n_test=2000, rng=0)
splits = {"val": (task.X_val, task.y_val), "test": (task.X_test, task.y_test)}
seeds = (0, 1, 2)
config = TrainConfig(lr=0.01, epochs=20, batch_size=128, momentum=0.9, device="cpu")
histories = {}
for bn in (False, True):
    for seed in seeds:
        net = deep_mlp.mlp(n_classes=task.n_classes, batch_norm=bn, init="he", seed=seed)
        histories[bn, seed] = train(net, dataclasses.replace(config, seed=seed), (task.X_train, task.y_train), **splits)

# %%
# Losses and accuracies
# ---------------------
# Left: validation loss of the two networks (mean and range over seeds). Batch
# norm gets there several times faster, and ends about level. Middle and right:
# the batch-norm network's four curves, all from the same runs. *Training,
# eval mode* is the loss on the whole training set after each epoch, measured
# as the validation loss is; *training, as reported during the epoch* is the
# mean of the mini-batch losses while the weights were still moving, in
# training mode, which is what a training loop usually prints.


def stacked(bn: bool, name: str) -> np.ndarray:
    """(seeds, epochs + 1) curve of one network; the epoch-0 slot of the epoch loss is left empty."""
    rows = []
    for seed in seeds:
        h = histories[bn, seed]
        rows.append(np.concatenate([[np.nan], h.epoch_loss]) if name == "epoch_loss" else getattr(h, name))
    return np.array(rows)


epoch = histories[True, 0].epoch
fig, (ax_c, ax_l, ax_a) = plotting.new_figure(1, 3, width=12.0, height=3.8)
for bn, name in ((False, "no batch norm"), (True, "batch norm")):
    plotting.band(ax_c, epoch, stacked(bn, "val_loss"), label=name, quantiles=(0.0, 1.0))
ax_c.set(xlabel="epoch", ylabel="validation loss", title="With and without batch norm")
plotting.legend(ax_c, fontsize=8)
for name, label in (
    ("epoch_loss", "training, as reported during the epoch"),
    ("train_loss", "training, eval mode"),
    ("val_loss", "validation"),
    ("test_loss", "test"),
):
    ax_l.plot(epoch, stacked(True, name).mean(axis=0), label=label)  # the epoch loss has no value at epoch 0
for name, label in (
    ("train_accuracy", "training, eval mode"),
    ("val_accuracy", "validation"),
    ("test_accuracy", "test"),
):
    ax_a.plot(epoch, stacked(True, name).mean(axis=0), label=label)
ax_l.set(ylim=(0.25, 1.0), xlabel="epoch", ylabel="cross-entropy", title="Batch norm: losses")
ax_a.set(ylim=(0.5, 1.0), xlabel="epoch", ylabel="accuracy", title="Batch norm: accuracies")
plotting.legend(ax_l, fontsize=7)
plotting.legend(ax_a, fontsize=7)

# %%
# Validation below training?
# --------------------------
# With batch norm, the training loss *as reported during the epoch* sits above
# the validation loss, which has been read as the normalised network
# generalising better than it fits. The eval-mode training loss, measured
# exactly as the validation loss, says otherwise: it is *below* the validation
# loss, as a model's loss on the data it was fitted to should be. And the
# network without batch norm shows no such gap at all. The gap is a matter of
# measurement: in training mode, batch norm normalises each mini-batch with its
# own noisy mean and variance (which the eval mode replaces by running
# averages), and the reported number averages over an epoch during which the
# weights were still improving.
gaps = {
    (bn, kind): np.array(
        [
            np.mean((h.epoch_loss[4:] if kind == "reported" else h.train_loss[5:]) - h.val_loss[5:])
            for h in (histories[bn, s] for s in seeds)
        ]
    )
    for bn in (False, True)
    for kind in ("reported", "eval")
}
for (bn, kind), values in gaps.items():
    print(
        f"{'batch norm' if bn else 'no batch norm':>13s}, {kind:>8s} training loss minus validation loss:",
        np.round(values, 3),
    )

# %%
# Dead units behind batch norm
# ----------------------------
# The same batch-norm network at learning rate 1 (8 epochs, three seeds).
# Batch norm re-centres each unit's pre-activation over the batch, but then
# applies its learnt scale and offset, :math:`\gamma\hat z + \beta`. Once
# :math:`\beta/|\gamma|` falls below :math:`-\max \hat z` (in the direction of
# the sign of :math:`\gamma`), the unit is negative for every input of the batch
# and dead. Large steps push offsets there. Left: the
# fraction of dead units over training; right: the offsets
# :math:`\beta/|\gamma|` of all units after training, dead and alive.
bn_runs = []
for seed in seeds:
    net = deep_mlp.mlp(n_classes=task.n_classes, batch_norm=True, init="he", seed=seed)
    history = train(
        net,
        dataclasses.replace(config, lr=1.0, epochs=8, seed=seed),
        (task.X_train, task.y_train),
        val=(task.X_val, task.y_val),
        hooks=[training_diagnostics.dead_unit_hook(task.X_val)],
    )
    bn_runs.append((net, history))
dead = np.concatenate([np.concatenate(training_diagnostics.dead_units(net, task.X_val)) for net, _ in bn_runs])
offsets = np.concatenate([np.concatenate(training_diagnostics.batchnorm_offsets(net)) for net, _ in bn_runs])

fig, (ax_d, ax_o) = plotting.new_figure(1, 2, width=10.0, height=3.7)
plotting.band(
    ax_d, bn_runs[0][1].epoch, np.array([h.measurements["dead_all"] for _, h in bn_runs]), quantiles=(0.0, 1.0)
)
ax_d.set(xlabel="epoch", ylabel="fraction of hidden units", title="Dead units with batch norm, lr = 1")
bins = np.linspace(-30, 5, 36)
ax_o.hist(np.clip(offsets[~dead], bins[0], bins[-1]), bins=bins, alpha=0.6, label="alive units")
ax_o.hist(np.clip(offsets[dead], bins[0], bins[-1]), bins=bins, alpha=0.6, label="dead units")
ax_o.set(xlabel=r"offset $\beta/|\gamma|$ (clipped to [-30, 5])", ylabel="units", title="Where dead units sit")
plotting.legend(ax_o, fontsize=8)

# %%
# The numbers, checked
# --------------------
val = {bn: stacked(bn, "val_loss") for bn in (False, True)}
dead_end = np.array([h.measurements["dead_all"][-1] for _, h in bn_runs])
with book.numbers():
    book.record(
        "sgd/bn_val3_plain", val[False][:, 3].mean(), fmt="{:.2f}", label="validation loss after 3 epochs, no BN"
    )
    book.record("sgd/bn_val3_bn", val[True][:, 3].mean(), fmt="{:.2f}", label="validation loss after 3 epochs, BN")
    book.record("sgd/bn_val_end_plain", val[False][:, -1].mean(), fmt="{:.3f}", label="final validation loss, no BN")
    book.record("sgd/bn_val_end_bn", val[True][:, -1].mean(), fmt="{:.3f}", label="final validation loss, BN")
    book.record(
        "sgd/bn_test_acc_bn",
        stacked(True, "test_accuracy")[:, -1].mean(),
        fmt="{:.1%}",
        label="final test accuracy with batch norm, mean over seeds",
    )
    book.record(
        "sgd/bn_test_acc_plain",
        stacked(False, "test_accuracy")[:, -1].mean(),
        fmt="{:.1%}",
        label="final test accuracy without batch norm, mean over seeds",
    )
    book.record(
        "sgd/bn_gap_reported_bn",
        gaps[True, "reported"].mean(),
        fmt="{:+.3f}",
        label="reported training loss minus validation loss with batch norm, mean over epochs 5-20 and seeds",
    )
    book.record(
        "sgd/bn_gap_eval_bn",
        gaps[True, "eval"].mean(),
        fmt="{:+.3f}",
        label="eval-mode training loss minus validation loss with batch norm, mean over epochs 5-20 and seeds",
    )
    book.record(
        "sgd/bn_gap_reported_plain",
        gaps[False, "reported"].mean(),
        fmt="{:+.3f}",
        label="reported training loss minus validation loss without batch norm, mean over epochs 5-20 and seeds",
    )
    book.record("sgd/bn_dead_lr1", dead_end.mean(), fmt="{:.0%}", label="dead units with batch norm at lr 1")
    book.record(
        "sgd/bn_offset_dead_median",
        np.median(offsets[dead]),
        fmt="{:.1f}",
        label="median batch-norm offset beta/|gamma| of dead units (lr 1)",
    )
    book.record(
        "sgd/bn_offset_alive_median",
        np.median(offsets[~dead]),
        fmt="{:.1f}",
        label="median batch-norm offset beta/|gamma| of alive units (lr 1)",
    )
    book.claim(
        "sgd/bn_faster",
        "batch norm speeds training up: after 3 epochs its validation loss is lower in every seed "
        "(smallest ratio of no-BN to BN, paired by seed)",
        value=float(np.min(val[False][:, 3] / val[True][:, 3])),
        at_least=1.2,
        fmt="{:.2f}",
    )
    book.claim(
        "sgd/bn_reported_above_val",
        "with batch norm, the training loss reported during each epoch lies above the validation loss "
        "(epochs 5-20, smallest mean gap over seeds)",
        value=float(gaps[True, "reported"].min()),
        at_least=0.03,
        fmt="{:+.3f}",
    )
    book.claim(
        "sgd/bn_eval_train_below_val",
        "measured in eval mode like the validation loss, the training loss of the batch-norm network is below the "
        "validation loss (epochs 5-20, largest mean gap over seeds)",
        value=float(gaps[True, "eval"].max()),
        at_most=0.0,
        fmt="{:+.3f}",
    )
    book.claim(
        "sgd/bn_no_gap_without_bn",
        "without batch norm the reported training loss shows no such gap: its mean distance from the validation "
        "loss is under a third of the batch-norm network's (largest over seeds, relative)",
        value=float(np.abs(gaps[False, "reported"]).max() / gaps[True, "reported"].min()),
        at_most=0.33,
        fmt="{:.2f}",
    )
    book.claim(
        "sgd/bn_dead_units_possible",
        "batch norm does not make dead units impossible: at learning rate 1 at least 10% of the hidden units of "
        "the batch-norm network are dead in every seed (smallest fraction)",
        value=float(dead_end.min()),
        at_least=0.1,
        fmt="{:.0%}",
    )
    book.claim(
        "sgd/bn_dead_units_have_negative_offsets",
        "dead units behind batch norm have strongly negative offsets: the median beta/|gamma| of the dead units "
        "(that of the live ones is recorded beside it)",
        value=float(np.median(offsets[dead])),
        at_most=-2.0,
        fmt="{:.1f}",
    )

# %%
# Takeaways
# ---------
# - Batch norm made this network train several times faster at the same
#   learning rate; after 20 epochs the two networks are about level.
# - It does not make dead units impossible: large steps drive the learnt
#   offsets :math:`\beta` far below the normalised range and the units die
#   all the same.
# - A reported training loss above the validation loss is a measurement
#   artefact of training mode, not a sign of a stronger inductive bias: in eval
#   mode the training loss is below the validation loss.
plotting.show()

"""
Is a smaller batch better, per epoch or per step?
=================================================

The six-layer network of the previous examples, without batch norm (it cannot
normalise a batch of one), trained at the learning rate that worked best,
with mini-batches of 1, 16, 128 and 1024. The batch size changes how many
steps an epoch holds, and how noisy each step is: we compare the runs against
both clocks.
"""

# %%
# Steps per epoch
# ---------------
# An epoch of :math:`n` examples in batches of :math:`b` takes
# :math:`\lceil n/b \rceil` optimiser steps. The classic version of this
# experiment has about :math:`10^5` training points (106,897) and 100 epochs,
# so batch size 1 there means ten million steps; ours has 6000 points and 8
# epochs, and batch size 1 is made affordable by training on a random subset
# of 1000 points for 3 epochs (3000 steps) instead of being dropped. The table
# gives both scales, and the steps each run below actually took.
import dataclasses

import numpy as np

from nnbook import book, deep_mlp, plotting, training_diagnostics
from nnbook.training import TrainConfig, train

task = deep_mlp.regions(n_train=6000, n_val=2000, n_test=2000, rng=0)
n = task.X_train.shape[0]
subset = np.random.default_rng(1).permutation(n)[:1000]
config = TrainConfig(lr=0.01, epochs=8, momentum=0.9, device="cpu")
settings = {  # name -> (batch size, learning rate, epochs, training indices)
    "b = 1": (1, 0.01, 3, subset),
    "b = 1, lr = 0.001": (1, 0.001, 3, subset),
    "b = 16": (16, 0.01, 8, slice(None)),
    "b = 128": (128, 0.01, 8, slice(None)),
    "b = 1024": (1024, 0.01, 8, slice(None)),
}
runs = {}
for name, (b, lr, epochs, rows) in settings.items():
    net = deep_mlp.mlp(n_classes=task.n_classes, init="he", seed=0)
    runs[name] = train(
        net,
        dataclasses.replace(config, batch_size=b, lr=lr, epochs=epochs),
        (task.X_train[rows], task.y_train[rows]),
        val=(task.X_val, task.y_val),
        hooks=[training_diagnostics.dead_unit_hook(task.X_val)],
    )
rows = [
    {
        "batch size": b,
        "steps per epoch, 106,897 points": -(-106_897 // b),
        "steps per epoch, this task": -(-n // b),
        "steps taken here": runs[f"b = {b}"].steps,
    }
    for b in (1, 16, 128, 1024)
]
table = book.save_table("sgd/batch_size_steps", rows, formats={name: "{:,}" for name in rows[0]})

# %%
# Two clocks
# ----------
# Validation loss against epochs (left; for the runs on the subset, an epoch
# of the subset counts as 1000/6000 of an epoch, so the horizontal axis is the
# number of examples processed in units of the full training set) and against
# optimiser steps (right). Per epoch the small batches are far ahead: they
# take many more steps for the same examples. Per step the large batches are
# ahead: each step averages more examples and so points more reliably downhill.
# Batch size 1 at the shared learning rate 0.01 is the exception: its steps are
# so noisy that it kills most of its units and stops learning; with a ten
# times smaller step it learns.
fig, (ax_e, ax_s) = plotting.new_figure(1, 2, width=10.0, height=3.9, sharey=True)
for name, (b, *_) in settings.items():
    h = runs[name]
    size = len(subset) if b == 1 else n
    (line,) = ax_e.plot(h.epoch * size / n, h.val_loss, "o-", ms=3, label=name)
    steps = h.epoch * -(-size // b)
    ax_s.plot(np.maximum(steps, 1), h.val_loss, "o-", ms=3, color=line.get_color())
ax_e.set(xlabel="examples processed / 6000", ylabel="validation loss", title="Against epochs")
ax_s.set(xscale="log", xlabel="optimiser steps (0 shown at 1)", title="Against steps")
plotting.legend(ax_e, fontsize=8)

# %%
# The numbers, checked
# --------------------
dead = {name: h.measurements["dead_all"][-1] for name, h in runs.items()}
constant = deep_mlp.constant_prediction_loss(task.y_val, task.n_classes)
with book.numbers():
    for name, h in runs.items():
        key = name.replace("b = ", "b").replace(", lr = 0.001", "_small_lr").replace(" ", "")
        book.record(f"sgd/bs_val_{key}", h.val_loss[-1], fmt="{:.2f}", label=f"final validation loss, {name}")
        book.record(f"sgd/bs_dead_{key}", dead[name], fmt="{:.0%}", label=f"dead units, {name}")
    book.check(
        "sgd/bs_steps_per_epoch",
        "every run took ceil(n / b) steps per epoch (largest deviation over the runs)",
        value=float(
            max(
                abs(runs[name].steps - epochs * -(-(len(subset) if b == 1 else n) // b))
                for name, (b, _, epochs, _) in settings.items()
            )
        ),
        at_most=0.0,
        fmt="{:.0f}",
    )
    book.claim(
        "sgd/bs_small_batch_per_epoch",
        "per epoch, batch 16 is far ahead of batch 1024: after 8 epochs the validation loss of batch 1024 is over "
        "twice that of batch 16 (ratio)",
        value=runs["b = 1024"].val_loss[-1] / runs["b = 16"].val_loss[-1],
        at_least=2.0,
        fmt="{:.1f}",
    )
    book.claim(
        "sgd/bs_large_batch_per_step",
        "per step, batch 128 is ahead of batch 16: after the same number of steps (one epoch of batch 16, eight of "
        "batch 128) its validation loss is lower (ratio of batch 16 to batch 128)",
        value=runs["b = 16"].val_loss[1] / runs["b = 128"].val_loss[-1],
        at_least=1.1,
        fmt="{:.2f}",
    )
    book.claim(
        "sgd/bs_one_dies_at_shared_lr",
        "batch size 1 at learning rate 0.01 kills at least 40% of the hidden units and ends near the loss of a "
        "constant prediction (dead fraction)",
        value=dead["b = 1"],
        at_least=0.4,
        fmt="{:.0%}",
    )
    book.claim(
        "sgd/bs_one_learns_smaller_lr",
        "with learning rate 0.001 batch size 1 learns: its validation loss ends below 70% of the constant-prediction "
        "loss (ratio)",
        value=runs["b = 1, lr = 0.001"].val_loss[-1] / constant,
        at_most=0.7,
        fmt="{:.2f}",
    )

# %%
# Takeaways
# ---------
# - The batch size sets the exchange rate between the two clocks. Per epoch
#   (per example, the cost when data loading dominates) small batches win;
#   per step (the cost on hardware that processes a whole batch in parallel)
#   large batches win.
# - A learning rate is tied to a batch size: the same step that serves batches
#   of 128 is too noisy for batches of one and kills their units, and batches
#   of 1024 could have taken larger steps.
plotting.show()
